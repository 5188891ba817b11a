# syntax=docker/dockerfile:1
# escape=`

FROM mcr.microsoft.com/windows/servercore
RUN dir c:\ `
    && echo done
ENV PATH="C:\tools;${PATH}" `
    HOME=C:\Users\me
COPY --from=build C:\src\ C:\dst\
