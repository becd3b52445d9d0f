module herald-interop

go 1.25.0

require (
	github.com/Scalingo/go-scalingo/v11 v11.3.0
	github.com/Scalingo/go-utils/errors/v3 v3.2.1
)

require (
	github.com/Scalingo/go-utils/pagination v1.2.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	go.uber.org/mock v0.6.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	gopkg.in/errgo.v1 v1.0.1 // indirect
)
