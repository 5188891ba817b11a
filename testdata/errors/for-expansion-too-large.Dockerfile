FROM busybox:local
FOR A IN aaaaaaaaaaaaaaaa
FOR B IN ${A//?/$A}
FOR C IN ${B//?/$B}
FOR D IN ${C//?/$C}
RUN echo $D
END
END
END
END
