FROM busybox:local
EXPOSE 80 53/udp
# expect: ExposeProtoCasing
EXPOSE 443/TCP
# expect: ExposeInvalidFormat
EXPOSE 8080:80
