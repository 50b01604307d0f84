"""Root conftest: nothing to order any more. The torch-before-TensorFlow guard lives in the one module that
imports TensorFlow (workbench/models/keras_adapter.py), so any import order is safe."""
