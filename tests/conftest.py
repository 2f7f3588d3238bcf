import os
import sys

# conformance.py is a shared module of the test suite, imported by the model tests.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
