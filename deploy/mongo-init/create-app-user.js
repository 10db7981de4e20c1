// Run by the official MongoDB image on the first start of an empty data volume, as the
// administrator (docker-compose.yml mounts this folder on /docker-entrypoint-initdb.d).
// The app's own user: read and write on the upvendo database only.
db.getSiblingDB("upvendo").createUser({
  user: "upvendo",
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: "readWrite", db: "upvendo" }],
});
