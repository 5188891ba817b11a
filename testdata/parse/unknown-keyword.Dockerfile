# Stage comment
INCLUDE ./common.Dockerfile
FROM alpine AS base(VERSION, FLAVOUR=slim)
IF "$FLAVOUR" == "slim"
RUN echo slim
END
FOR arch IN amd64 arm64
CHECK --strict lint
END
ENV ONLY_KEY
