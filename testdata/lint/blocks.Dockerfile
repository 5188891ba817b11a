ARG MODE=release
FROM busybox:local
ARG MODE
ENV FIXED=yes
# expect: UnreachableBlock
IF a == b
RUN never
# expect: UnreachableBlock
ELSE IF defined(UNDECLARED_NAME)
RUN never2
ELSE IF $MODE == debug
RUN maybe
END
IF $FIXED == yes
RUN always
# expect: UnreachableBlock
ELSE
RUN never3
END
# expect: EmptyBlock
IF $MODE == release
END
# expect: EmptyBlock
FOR X IN
RUN x
END
FOR PY IN 3.11 3.12
# expect: UnreachableBlock
IF $PY == 3.10
RUN old
END
IF $PY == 3.12
RUN new
END
END
