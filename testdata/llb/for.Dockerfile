# FOR: one stage per item (the list partly from an ARG), nested with IF.
ARG PYTHONS="3.11 3.12"
FOR PY IN ${PYTHONS} 3.13
FROM busybox:local AS test-${PY}
IF ${PY} != "3.12"
RUN echo testing $PY '$PY-kept'
END
RUN --mount=type=cache,target=/cache/${PY} echo ${PY} > /result
END

FROM scratch
FOR PY IN 3.11 3.12 3.13
COPY --from=test-${PY} /result /results/${PY}
END
