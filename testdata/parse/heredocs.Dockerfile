FROM alpine:3.20 AS build
RUN <<EOF
set -e
echo "building $TARGET"
EOF
COPY <<-"conf" <<app.sh /etc/app/
	key = value
	conf
#!/bin/sh
exec "$@"
app.sh
RUN 3<<INPUT cat <&3 > /out
data
INPUT
RUN ["sh", "-c", "<<EOF"]
