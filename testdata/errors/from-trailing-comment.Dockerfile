FROM busybox:local AS base   # the base stage
RUN true
