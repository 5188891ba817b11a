# --exclude on COPY and ADD (docker/dockerfile 1.19+): repeatable, `**` patterns, passed
# to the file op as written (upstream does not expand variables in it).
FROM busybox:local
ARG PAT=*.txt
COPY --exclude=*.txt hom* /mydir/
COPY --exclude=*.txt --exclude=**/*.md --exclude=$PAT . /all/
ADD --exclude=*.log logs.tar.gz /logs/
COPY --exclude=tmp <<EOT /inline.txt
hello
EOT
