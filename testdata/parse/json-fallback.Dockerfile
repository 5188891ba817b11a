FROM scratch
CMD ["a", "b"]
CMD ['single', 'quotes']
CMD ["unterminated"
ENTRYPOINT [ "tabs",	"ok" ]
SHELL ["powershell", "-Command"]
COPY ["a b", "/c d/"]
VOLUME ["/data"] extra
RUN ["nested", ["array"]]
