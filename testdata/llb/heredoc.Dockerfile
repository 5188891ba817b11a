FROM busybox:local
RUN <<EOF
echo one > /one
echo two > /two
EOF
RUN <<-SCRIPT
	#!/bin/sh
	echo script > /script
SCRIPT
COPY <<CONF /etc/app.conf
name=${NAME:-app}
CONF
RUN cat <<A > /a
a file
A
