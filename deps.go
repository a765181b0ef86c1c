package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/kms"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	_ "modernc.org/sqlite"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/go-json-experiment/json"
)
