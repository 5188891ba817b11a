FROM debian:bookworm AS builder
RUN apt-get update && apt-get install -y python3
FROM debian:bookworm
COPY --from=builder /app /app
# expect: CmdToolNotInstalled
CMD ["python3", "/app/main.py"]
