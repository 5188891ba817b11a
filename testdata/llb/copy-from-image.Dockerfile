FROM scratch
COPY --from=busybox:local /bin/busybox /bb
COPY --chown=1000:1000 --chmod=755 run.sh /usr/local/bin/
COPY *.txt dir/ /data/
CMD ["/bb", "sh"]
