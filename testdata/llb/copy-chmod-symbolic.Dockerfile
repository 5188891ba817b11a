# --chmod: octal as before, symbolic chmod(1) modes (docker/dockerfile 1.14+) as a mode
# string, and (1.26) variables expanded in either.
FROM busybox:local
ARG MODE=440
ARG SYM=g=u
COPY --chmod=755 app.sh /app/
COPY --chmod=+x script.sh /app/
COPY --chmod=u=rwX,go=rX . /tree/
COPY --chmod=$MODE a.txt /a
COPY --chmod=$SYM config/ /config/
ADD --chmod=a-w https://example.com/f /f
COPY --link --chmod=+x script.sh /linked/
