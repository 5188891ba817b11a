FROM busybox
COPY --from=builder --chown=1000:1000 --link src/ /app/
ADD --checksum=sha256:abc "--quoted" /x
RUN --mount=type=cache,target=/root/.cache --network=none -- make
RUN --mount="type=secret,id=tok" cat /run/secrets/tok
COPY -- --not-a-flag /dst
FROM --platform=$BUILDPLATFORM golang AS tools
