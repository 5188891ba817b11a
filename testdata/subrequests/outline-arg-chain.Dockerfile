# Stage ARG defaults expand one after another: B sees the A of the same line.
FROM busybox:local
ARG A=1 B=$A C=${B}-${A}
RUN echo $C
