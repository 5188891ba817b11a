# IF and FOR: a test stage per Python version, a lint stage only in CI, one report.
ARG PYTHONS="3.11 3.12 3.13"
ARG CI=true

FROM busybox:local AS deps
# The blocks below see the variables of the stage they follow.
ARG PYTHONS CI
RUN echo deps > /deps

FOR PY IN ${PYTHONS}
FROM deps AS test-${PY}
RUN echo "test on ${PY}" > /result
CHECK test -s /result
END

IF ${CI} == "true"
FROM busybox:local AS lint
RUN echo lint > /lint
END

# Not needed by the report: drawn dimmed.
FROM busybox:local AS docs
RUN echo docs > /docs

FROM scratch AS report
ARG PYTHONS CI
FOR PY IN ${PYTHONS}
COPY --from=test-${PY} /result /results/${PY}
END
IF ${CI} == "true"
COPY --from=lint /lint /lint
END
