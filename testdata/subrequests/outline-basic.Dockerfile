ARG BASE=busybox:local
# VERSION The version to build
ARG VERSION=1.0
ARG UNUSED=x

# build Compiles the app
FROM ${BASE} AS build
# GOOS target OS
ARG GOOS=linux
ARG VERSION
RUN --mount=type=secret,id=token,required=true --mount=type=ssh echo hi

# runtime The final image
FROM busybox:local AS runtime
ARG EXTRA
COPY --from=build /etc/passwd /x
RUN --mount=type=secret,id=npmrc true
