module github.com/jwtguard/jwtguard/redisstore

go 1.25.0

require (
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.21.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/jwtguard/jwtguard => ../
