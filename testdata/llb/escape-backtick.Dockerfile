# escape=`
FROM busybox:local
RUN echo a `
    b > /c:\path
COPY a\b.txt c:\dest\
