"""The evaluation protocol: capabilities choose the metrics, floors make numbers readable, the
protocol is written next to the numbers, and the verbs print tables."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import report_context
from typer.testing import CliRunner

from generativa.evaluation.protocol import evaluate_model, format_table, parse_metrics, table_rows
from generativa.models.base import Capabilities, GenerativeModel, LossOutput, ModelConfig


class _Replay(GenerativeModel):
    """'Samples' by replaying given images: a perfect generator when they are held-out data."""

    CAPABILITIES = Capabilities(sample=True, reconstruct=True, log_prob="exact")

    def __init__(self, images: torch.Tensor):
        super().__init__(ModelConfig(data_shape=tuple(images.shape[1:])))
        self.images = images
        self.registry_name = "replay"

    def loss(self, batch):
        return LossOutput(loss=torch.zeros(()))

    @torch.no_grad()
    def sample(self, n, *, generator=None, **condition):
        i = torch.randint(0, len(self.images), (n,), generator=generator)
        return self.images[i]

    def reconstruct(self, x):
        return x

    def log_prob(self, x):
        return torch.full((x.shape[0],), -float(x[0].numel()) * 2.0)


class _NoSampler(GenerativeModel):
    def __init__(self):
        super().__init__(ModelConfig())

    def loss(self, batch):
        return LossOutput(loss=torch.zeros(()))


def test_a_perfect_generator_sits_on_the_floor_and_a_collapsed_one_does_not(digits, lenet_features):
    good = _Replay(digits.train.images())
    result = evaluate_model(good, digits, n_samples=359, feature_net=lenet_features,
                            metrics="fid,kid,pr,dc,is,mode_coverage")
    m, floor, protocol = result["metrics"], result["floor"], result["protocol"]
    assert set(floor) >= {"fid", "kid", "precision", "recall", "density", "coverage", "inception_score"}
    assert m["fid"] < 2 * floor["fid"] + 1.0
    assert m["recall"] > 0.8 and m["mode_coverage"] == 1.0
    assert 1.0 <= m["inception_score"] <= 10.0
    assert protocol["n_samples"] == 359 and protocol["n_reference"] == len(digits.test)
    assert protocol["feature_net"]["architecture"] == "lenet5" and protocol["feature_net"]["test_accuracy"] > 0.8
    assert protocol["seed"] == 0 and "library_version" in protocol

    zeros = digits.train.images()[digits.train.labels == 1]  # only ones: a collapsed generator
    bad = evaluate_model(_Replay(zeros), digits, n_samples=359, feature_net=lenet_features,
                         metrics="fid,precision_recall,mode_coverage")["metrics"]
    assert bad["fid"] > 5 * m["fid"] and bad["recall"] < 0.5 and bad["mode_coverage"] <= 0.6
    assert bad["class_kl"] > 1.0


def test_capabilities_choose_metrics(digits):
    result = evaluate_model(_Replay(digits.test.images()), digits, metrics="nll,reconstruction")
    m = result["metrics"]
    assert m["mse"] == 0 and m["ssim"] == pytest.approx(1.0) and m["psnr"] == 100.0
    assert m["bits_per_dim"] == pytest.approx(2.0 / torch.log(torch.tensor(2.0)).item())
    assert "7" in result["protocol"]["ssim"] and "256" in result["protocol"]["dequantisation"]
    assert result["protocol"]["log_prob_is_bound"] is False
    skipped = evaluate_model(_NoSampler(), digits, metrics="fid,nll")["skipped"]
    assert set(skipped) == {"fid", "nll"} and "does not sample" in skipped["fid"]
    with pytest.raises(ValueError, match="unknown metric 'fidd'"):
        parse_metrics("fidd")


def test_vector_data_uses_the_data_as_features():
    from generativa.data import load_data

    data = load_data("toy2d:ring8")
    result = evaluate_model(_Replay(data.train.x), data, n_samples=500, metrics="fid,pr")
    assert result["protocol"]["feature_net"]["kind"] == "pixels"
    assert result["metrics"]["precision"] > 0.9


def test_classifier_run_evaluates_to_accuracy_and_confusion(tmp_path, digits):
    import generativa

    run = generativa.train("lenet5", data="digits", steps=30, out=tmp_path / "lenet", progress=False,
                           sample_every=0, log_every=0)
    from generativa.evaluation.protocol import evaluate_run

    result = evaluate_run(run)
    confusion = torch.tensor(result["metrics"]["confusion_matrix"])
    assert confusion.shape == (10, 10) and int(confusion.sum()) == len(digits.test)
    assert result["metrics"]["accuracy"] == pytest.approx(float(confusion.diagonal().sum()) / len(digits.test))
    assert (run / "confusion.png").is_file()
    saved = json.loads((run / "metrics.json").read_text())["evaluation"]
    assert saved["metrics"]["accuracy"] == result["metrics"]["accuracy"]
    assert "accuracy" in format_table(table_rows(result))

    from generativa.reporting.sections.metrics import sections

    (section,) = sections(report_context(run))
    assert section.title == "Evaluation" and "accuracy" in section.html and 'alt="confusion matrix"' in section.html


def test_evaluate_and_compare_verbs(tmp_path):
    import generativa
    from generativa.cli import app

    tiny = dict(progress=False, sample_every=0, log_every=0, architecture="mlp", hidden=[32], latent_dim=4,
                batch_size=32)
    runs = [generativa.train("ae", data="digits", steps=s, out=tmp_path / f"ae{s}", **tiny) for s in (5, 40)]
    from generativa.reporting.sections.metrics import sections

    assert "Not evaluated yet" in sections(report_context(runs[0]))[0].html
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(runs[0]), "--feature-net", "pixels", "--n", "200"])
    assert result.exit_code == 0, result.output
    assert "fid" in result.output and "floor" in result.output and "pixels" in result.output
    protocol = json.loads((runs[0] / "metrics.json").read_text())["evaluation"]["protocol"]
    assert protocol["n_samples"] == 200 and protocol["feature_net"]["kind"] == "pixels"
    figure = tmp_path / "compare.png"
    result = runner.invoke(app, ["compare", *map(str, runs), "--feature-net", "pixels", "--n", "200",
                                 "--out", str(figure)])
    assert result.exit_code == 0, result.output
    assert figure.is_file() and result.output.count("ae") >= 2 and "fid floor" in result.output
    assert runner.invoke(app, ["compare", "--help"]).exit_code == 0
    html = sections(report_context(runs[0]))[0].html
    assert "floor" in html and "fid" in html and "200 samples" in html


class _TinyInception(torch.nn.Module):
    """A scripted stand-in: 8x8 average pooling of the 299x299 input, flattened."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(x, 3).flatten(1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_feature_net_through_the_protocol(digits, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(_TinyInception()), str(path))
    from generativa.evaluation.features import TorchScriptFeatures

    net = TorchScriptFeatures(path, size=75)  # smaller than Inception's 299 to keep the test quick
    result = evaluate_model(_Replay(digits.train.images()), digits, n_samples=100,
                            feature_net=net, metrics="fid,inception_score")
    assert result["protocol"]["feature_net"]["kind"] == "torchscript"
    assert result["metrics"]["fid"] >= 0 and "fid" in result["floor"]
    assert "classifier" in result["skipped"]["inception_score"]


def test_evaluation_says_what_it_is_doing(tmp_path, capsys):
    import generativa
    from generativa.evaluation.protocol import evaluate_run

    run = generativa.train("vae", data="digits", steps=2, out=tmp_path / "v", progress=False, architecture="mlp",
                           hidden=(16,), latent_dim=2, sample_every=0)
    capsys.readouterr()
    evaluate_run(run, metrics="fid,nll,reconstruction", n_samples=50, feature_net="pixels", progress=True)
    err = capsys.readouterr().err
    assert "vae: sampling" in err and "vae: features of 50 samples" in err and "vae: log-likelihood" in err
    assert "vae: reconstructions of" in err
