FROM busybox:local AS base
ARG DECLARED
ENV FROM_ENV=1
# expect: UndefinedVar
ENV PATH=$PATH:/x OTHER=$MISSING
WORKDIR /w/$FROM_ENV/$DECLARED
# expect: UndefinedVar
COPY --chown=$USR a /dst
RUN echo $NOT_CHECKED_IN_RUN
# expect: UndefinedVar
LABEL x=$FROM_EVN
ARG WITH_DEFAULT=${FROM_ENV}-x
USER ${WITH_DEFAULT}
FROM base
COPY a /$FROM_ENV/$DECLARED
# expect: UndefinedVar
COPY <<EOF /f
$HEREDOC_VAR
EOF
COPY <<'EOF' /g
$NOT_EXPANDED
EOF
