"""Published one-class Fashion-MNIST AUROCs (%) for `benchmarks/anomaly.py`'s report, with where they come from.

Golan & El-Yaniv, "Deep Anomaly Detection Using Geometric Transformations"
(NeurIPS 2018, arXiv 1805.10917), Table 1, Fashion-MNIST. The means of five
columns and GEOM's per-class row were read from secondary copies of the table
(a paper summary and the GeoTrans row that AGAD, Cheng et al., reprint); the
per-class rows of the baselines could not be reached offline. GANomaly and
f-AnoGAN report no Fashion-MNIST numbers (GANomaly also inverts the task: one
class anomalous, nine normal).
"""

PUBLISHED_MEANS = {"RAW-OC-SVM": 92.8, "CAE-OC-SVM": 91.7, "DSEBM": 86.6, "ADGAN": 88.4, "GEOM": 93.5}
PUBLISHED_PER_CLASS = {"GEOM": (99.4, 97.6, 91.1, 89.9, 92.1, 93.4, 83.3, 98.9, 90.8, 99.2)}
PUBLISHED_NOTE = (
    "Golan & El-Yaniv 2018, Table 1 (means; GEOM per class), read from secondary copies of the table. Their "
    "protocol differs from ours: images zero-padded to 32x32; OC-SVM's nu and gamma chosen on the labelled test "
    "set (\"with hindsight knowledge\"), ours are fixed (nu 0.1, gamma 'scale'); ADGAN (WGAN-GP, 100 epochs) scored "
    "on a random 5 000 of the 10 000 test images, run once; GEOM, DSEBM averaged over 5 runs.")
