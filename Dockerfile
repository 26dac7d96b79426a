# Forecall API and workers. Build: docker build -t forecall .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FORECALL_STORE=sqlite:////data/forecall.db

RUN useradd --create-home --uid 10001 forecall && mkdir /data && chown forecall /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY core core
COPY connectors connectors
COPY predictors predictors
COPY profiles profiles
COPY inbound inbound
COPY proactive proactive
COPY models models
RUN pip install --no-compile . && rm -rf /root/.cache

USER forecall
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
ENTRYPOINT ["forecall"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
