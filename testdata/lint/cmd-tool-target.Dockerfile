FROM scratch AS app
# expect: CmdToolNotInstalled
CMD ["/app"]
FROM busybox:local AS other
CMD ["sh"]
