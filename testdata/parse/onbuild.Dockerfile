FROM node
ONBUILD COPY package.json /app/
ONBUILD RUN ["npm", "install"]
ONBUILD RUN npm run build
ONBUILD
ONBUILD --weird ADD . /src
