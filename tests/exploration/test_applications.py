import json

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from generativa.data import load_data
from generativa.exploration.anomaly import anomaly_run, anomaly_scores, evaluate_anomaly, roc_curve
from generativa.exploration.denoise import denoise, denoise_run
from generativa.exploration.embed import embed_2d, embed_run
from generativa.exploration.inpaint import inpaint, inpaint_run, parse_mask, read_mask
from generativa.exploration.retrieve import nearest, precision_at_k, retrieve_run


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def test_denoise_corrupts_then_cleans(ae_model, digits):
    x = digits.test.images(slice(0, 64))
    r = denoise(ae_model, x, noise="saltpepper:0.2", generator=torch.Generator().manual_seed(0))
    p = r.psnr()
    assert p["psnr_restored"] > p["psnr_noisy"]
    assert r.grid_rows(8).shape == (24, 1, 8, 8)
    assert denoise(ae_model, x).clean is None
    with pytest.raises(ValueError, match="unknown noise spec"):
        denoise(ae_model, x, noise="blur:2")
    with pytest.raises(ValueError, match="expects inputs of shape"):
        denoise(ae_model, torch.rand(2, 3, 8, 8))


def test_masks_parse_and_must_fit(tmp_path):
    m = parse_mask("rect:1,2,3,4", (1, 8, 8))
    assert m.sum() == 12 and m[0, 0, 2, 1] and m[0, 0, 5, 3] and not m[0, 0, 6, 1]
    for bad in ("rect:6,6,4,3", "rect:0,0,0,2", "circle:1,1,2", "rect:1,2,3"):
        with pytest.raises(ValueError):
            parse_mask(bad, (1, 8, 8))
    png = np.zeros((8, 8), np.uint8)
    png[:2] = 255
    Image.fromarray(png, mode="L").save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png", (1, 8, 8)).sum() == 16
    with pytest.raises(ValueError, match="draw the mask at 16x16"):
        read_mask(tmp_path / "m.png", (1, 16, 16))


def test_inpaint_keeps_known_pixels_and_beats_a_grey_fill(ae_model, digits):
    x = digits.test.images(slice(0, 100))
    m = parse_mask("rect:2,2,4,3", x.shape)
    filled = inpaint(ae_model, x, m, iterations=30)
    known = ~m.expand_as(x)
    assert torch.equal(filled[known], x[known])
    hole = m.expand_as(x)
    mse_filled = ((filled - x)[hole] ** 2).mean()
    mse_grey = ((0.5 - x)[hole] ** 2).mean()
    assert mse_filled < 0.8 * mse_grey, (mse_filled, mse_grey)


def test_anomaly_scores_separate_inverted_images(ae_model, digits):
    x = digits.test.images(slice(0, 100))
    x_all = torch.cat([x, 1 - x])  # inverted digits are far from anything seen in training
    labels = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    result = evaluate_anomaly(ae_model, x_all, labels, "0")
    assert result.auroc > 0.95
    assert result.auroc == pytest.approx(roc_auc_score(result.is_anomaly, result.scores))
    fpr, tpr = roc_curve(result.scores, result.is_anomaly)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and np.all(np.diff(fpr) >= 0)
    for score in ("l1", "bce"):
        assert anomaly_scores(ae_model, x[:4], score=score).shape == (4,)
    with pytest.raises(ValueError, match="unknown anomaly score"):
        anomaly_scores(ae_model, x, score="psnr")
    with pytest.raises(ValueError, match="outside"):
        evaluate_anomaly(ae_model, x_all, labels, "0,7")


def test_nearest_and_precision_at_k(ae_model, digits):
    db = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    nb = nearest(torch.tensor([[0.9, 0.1]]), db, 2)
    assert nb.index.tolist() == [[1, 0]]
    with pytest.raises(ValueError, match="k must lie"):
        nearest(db, db, 4)
    p = precision_at_k(ae_model, digits.train.images(), digits.train.labels, digits.test.images(slice(0, 100)),
                       digits.test.labels[:100], k=5)
    assert p > 0.6  # chance is about 0.1


def test_embedding_methods():
    z = torch.randn(50, 2)
    pts, used = embed_2d(z)
    assert used == "code" and np.allclose(pts, z.numpy())
    pts, used = embed_2d(torch.randn(50, 6))
    assert used == "pca" and pts.shape == (50, 2)
    with pytest.raises(ValueError, match="needs a 2-D code"):
        embed_2d(torch.randn(5, 3), "code")
    with pytest.raises(ValueError, match="unknown embedding method"):
        embed_2d(z, "isomap")


def test_verbs_write_their_files(ae_run):
    path, result = denoise_run(ae_run, noise="gaussian:0.2", n=8)
    assert path.exists() and result.psnr() is not None
    path, numbers = inpaint_run(ae_run, mask="rect:0,0,3,3", n=4, iterations=5)
    assert path.exists() and numbers["missing_pixels"] == 9
    folder, result = anomaly_run(ae_run, "0,1")
    assert (folder / "roc.png").exists() and (folder / "histogram.png").exists()
    assert json.loads((folder / "anomaly.json").read_text())["auroc"] == pytest.approx(result.auroc)
    path, numbers = retrieve_run(ae_run, k=4, n_queries=3)
    assert path.exists() and len(numbers["neighbours"]) == 3 and 0 <= numbers["precision_at_4"] <= 1
    path, used = embed_run(ae_run, n=200)
    assert path.exists() and used == "pca"
    metrics = json.loads((ae_run / "metrics.json").read_text())
    assert "anomaly/auroc" in metrics and "retrieve/precision_at_4" in metrics


def test_cli_errors_are_clear(ae_run):
    from typer.testing import CliRunner

    from generativa.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["denoise", str(ae_run), "--noise", "blur:3"])
    assert bad.exit_code != 0 and "unknown noise spec" in str(bad.exception)
    bad = runner.invoke(app, ["inpaint", str(ae_run), "--mask", "rect:6,6,4,4"])
    assert "does not fit a 8x8 image" in str(bad.exception)
    ok = runner.invoke(app, ["retrieve", str(ae_run), "-k", "3"])
    assert ok.exit_code == 0 and "precision@3" in ok.output


def test_a_run_without_an_encoder_gets_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from generativa.cli import app
    from generativa.registry import build_model
    from generativa.training.checkpoint import save_model

    save_model(tmp_path, build_model("gan"), data={"spec": "digits", "options": {}})
    runner = CliRunner()
    for verb in ("retrieve", "embed"):
        result = runner.invoke(app, [verb, str(tmp_path)])
        assert result.exit_code != 0 and "needs a model that can encode" in str(result.exception)
    result = runner.invoke(app, ["denoise", str(tmp_path)])
    assert "needs a model that can reconstruct" in str(result.exception)


def test_umap_is_an_optional_extra():
    pytest.importorskip("sklearn")
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"generativa\[umap\]"):
            embed_2d(torch.randn(20, 4), "umap")
    else:  # pragma: no cover - only where the extra is installed
        assert embed_2d(torch.randn(20, 4), "umap")[0].shape == (20, 2)


def test_denoise_reads_an_npz_input(ae_run, tmp_path, digits):
    x = (digits.test.images(slice(0, 5)) * 255).round().to(torch.uint8).numpy()
    np.savez(tmp_path / "in.npz", x=x)
    path, result = denoise_run(ae_run, input=tmp_path / "in.npz", noise="mask:0.3", out=tmp_path / "g.png")
    assert path.exists() and result.noisy.shape == (5, 1, 8, 8) and result.psnr() is not None
    path, result = denoise_run(ae_run, input=tmp_path / "in.npz", noise=None, out=tmp_path / "h.png")
    assert result.clean is None
