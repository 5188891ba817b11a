FROM debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal
CMD ["python3", "x.py"]
