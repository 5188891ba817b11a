# A library file with a mistake, to show errors name the library file and line.
FROM ${BASE} AS broken
COPY only-one-argument
