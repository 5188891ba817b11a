ARG TAG=3.19
ARG NOVALUE
# expect: UndefinedArgInFrom
FROM alpine${TGA} AS typo
# expect: InvalidDefaultArgInFrom
FROM alpine:${NOVALUE} AS needs-arg
FROM alpine:${TAG} AS ok
# expect: FromPlatformFlagConstDisallowed
FROM --platform=linux/arm64 alpine AS builder
FROM --platform=linux/arm64 alpine AS build-arm64
# expect: RedundantTargetPlatform
FROM --platform=$TARGETPLATFORM alpine AS redundant
FROM --platform=$BUILDPLATFORM alpine AS native
# expect: UndefinedArgInFrom
FROM --platform=$BUILDPLATFROM alpine AS typo-platform
