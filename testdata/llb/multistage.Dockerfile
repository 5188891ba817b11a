ARG BASE=busybox:local
FROM ${BASE} AS build
ARG MSG=hello
WORKDIR /src
COPY src/ ./
RUN echo "$MSG" > out.txt

FROM debian:bookworm AS unused
RUN exit 1

FROM ${BASE} AS test
COPY --from=build /src/out.txt /tmp/
RUN grep hello /tmp/out.txt

FROM busybox:local
COPY --from=build /src/out.txt /app/
COPY --from=0 /src /src-copy
ENV GREETING="hi there" OTHER=$GREETING
USER nobody
ENTRYPOINT ["cat"]
CMD ["/app/out.txt"]
