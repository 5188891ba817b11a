FROM scratch
COPY --deps /bin/ls /ls
