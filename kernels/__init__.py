"""The imaging library: codecs and colour (io/), develop operations (ops/ with CUDA sources in
cuda/), the pipeline and its backends, model runners (ml/). Imports nothing of Django."""
