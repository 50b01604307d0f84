"""XAI workbench: the library under the two entry points (`inference.py`, `xai_models.py`) and the app.

Importing the package loads nothing heavy. TensorFlow imported before torch's triton makes the process
segfault (two LLVMs collide; ../shared/guide/environment.md); TensorFlow is imported in one place,
`models/keras_adapter.py`, and its guard (torch._dynamo, which loads triton) is the line before it, so
a process that never loads a Keras model never pays for the guard.
"""
