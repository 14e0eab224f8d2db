#!/bin/sh
echo "starting the app"
node src/server.js
