# tools Shared tooling
FROM busybox:local AS tools
INCLUDE inc/app.inc

# Built last: the default target has no name.
FROM app
ARG FINAL_TAG
