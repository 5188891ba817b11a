FROM busybox:local
WORKDIR /app
COPY a.txt .
RUN echo hi > /app/b.txt
CMD ["cat", "/app/b.txt"]
