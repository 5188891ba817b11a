FROM python:3.12-slim AS py
CMD ["python3", "x.py"]
FROM node:20
CMD ["node", "server.js"]
