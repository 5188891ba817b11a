FROM busybox:local AS build
ARG DIR=secrets
COPY src/ /src/
# expect: CopyIgnoredFile
COPY app.log /logs/
# expect: CopyIgnoredFile
ADD node_modules/pkg/index.js /app/
# expect: CopyIgnoredFile
COPY ${DIR}/token.txt /run/
COPY . /app
COPY --from=busybox:local target/x /x
ADD https://example.com/app.log /logs/
COPY <<EOF /etc/conf
target
EOF
# check=skip=CopyIgnoredFile
COPY target/bin /bin/app

FROM busybox:local
COPY --from=build /src /src
# expect: CopyIgnoredFile
COPY target/ /t/
