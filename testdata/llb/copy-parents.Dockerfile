# COPY --parents (docker/dockerfile 1.20+): each source keeps its parent directories,
# from the `/./` pivot on; required paths only where no wildcard is involved.
FROM busybox:local AS build
RUN mkdir -p /out/x/y && touch /out/x/y/a.txt

FROM busybox:local
WORKDIR /work
COPY --parents ./x/a.txt ./y/a.txt /parents/
COPY --parents ./x/./y/*.txt /pivot/
COPY --parents ./src/**/*.txt /deep/
COPY --parents a/./b rel/
COPY --parents=false ./x/a.txt /flat/
COPY --parents --from=build /out/./x/y/a.txt /from-stage/
COPY --parents --exclude=**/*.md --chmod=u=rwX,go=rX ./docs /docs/
