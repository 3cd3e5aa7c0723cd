# ge2conn on a CUDA GPU. Untested here: the development machines have no Docker engine and no GPU.
# Build: docker build -t ge2conn .      Run: docker run --gpus all -v $HOME/.cache/ge2conn:/root/.cache/ge2conn ge2conn ge2conn --help
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/ge2conn
COPY pyproject.toml README.md ./
COPY ge2conn ./ge2conn
COPY configs ./configs
# flash-attn compiles against the image's CUDA toolkit (devel image); --no-build-isolation uses its torch.
RUN pip install packaging ninja && pip install --no-build-isolation ".[flash]"
ENTRYPOINT []
CMD ["ge2conn", "--help"]
