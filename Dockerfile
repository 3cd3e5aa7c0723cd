# ge2conn on a CUDA GPU. NOT BUILT OR RUN HERE: the development machines have no Docker engine and no GPU,
# so this file is untested; the pins below are the versions the test suite passed with on CPU.
# Build: docker build -t ge2conn .
# Run:   docker run --gpus all -v $HOME/.cache/ge2conn:/root/.cache/ge2conn ge2conn ge2conn --help
#
# torch 2.5.1 + CUDA 12.4 (Python 3.11) comes with the base image. flash-attn is installed from the
# project's prebuilt wheel for exactly this combination (CUDA 12, torch 2.5, C++11 ABI off like the PyPI
# torch wheels, CPython 3.11) instead of being compiled: no nvcc, no devel image, no unpinned build.
# Changing the base image means changing FLASH_ATTN_WHEEL to the matching cu/torch/abi/cp tags.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ARG FLASH_ATTN_WHEEL=https://github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/flash_attn-2.7.4.post1+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/ge2conn
COPY pyproject.toml README.md ./
COPY docker/constraints.txt ./docker/constraints.txt
COPY ge2conn ./ge2conn
COPY configs ./configs
# The shipped pretrained checkpoints (`ge2conn test --ckpt_path checkpoints/...`, transfer, explain).
COPY checkpoints ./checkpoints
RUN python -c "import sys, torch; assert sys.version_info[:2] == (3, 11) and torch.__version__.startswith('2.5.1'), (sys.version, torch.__version__)" \
    && pip install --no-deps "${FLASH_ATTN_WHEEL}" \
    && pip install --constraint docker/constraints.txt "torch==2.5.1" einops . \
    && python -c "import flash_attn, ge2conn; print('flash-attn', flash_attn.__version__)"
ENTRYPOINT []
CMD ["ge2conn", "--help"]
