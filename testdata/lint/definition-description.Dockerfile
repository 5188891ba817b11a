# check=experimental=InvalidDefinitionDescription
# VERSION the release to build
ARG VERSION=1.0
# expect: InvalidDefinitionDescription
# the base image
ARG BASE=busybox:local

# base the stage everything starts from
FROM ${BASE} AS base
# expect: InvalidDefinitionDescription, StageNameCasing
# Builder stage
FROM base AS Builder
# expect: InvalidDefinitionDescription
# two args at once
ARG A B
# A is the first
ARG A B

# expect: InvalidDefinitionDescription
# a blank line does not end a comment block (upstream's parser): still a description

ARG C
# an empty comment line does
#
ARG D
RUN true
# comments above other instructions are not descriptions
RUN true
FROM base
