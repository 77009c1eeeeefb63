import torch
from helpers import report_context

from generativa.exploration.anomaly import anomaly_run
from generativa.models.autoencoders.sparse import SparseAEConfig, SparseAutoencoder
from generativa.reporting.sections import autoencoders as section
from generativa.training.run import RunDir


def test_autoencoder_section_shows_the_map_and_anomaly_figures(ae_run, ae_model):
    run = RunDir(ae_run)
    anomaly_run(ae_run, "3")
    titles = {s.title: s.html for s in section.sections(report_context(run.path))}
    assert "2-D map" in titles["Autoencoder"] and "<img" in titles["Autoencoder"]
    assert "AUROC" in titles["Anomaly detection"]


def test_sparse_runs_show_activation_histograms():
    torch.manual_seed(0)
    model = SparseAutoencoder(SparseAEConfig(architecture="mlp", hidden=(16,), sparsity="topk", k=3)).eval()
    html = section._sparse(model, torch.rand(20, 1, 8, 8))
    assert "Code activations" in html and "<img" in html and "<td>3</td>" in html
