#!/bin/sh
echo "hello from a compliant image"
