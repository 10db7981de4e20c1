<?php
// Prints Kassanet crypto and signature test vectors as JSON, computed by PHP itself.
// Run through generate.sh, which enables OpenSSL's legacy provider (Blowfish).
declare(strict_types=1);

$iv = "\0\0\0\0\0\0\0\0";

function seq(int $n): string
{
    $s = '';
    for ($i = 0; $i < $n; $i++) {
        $s .= chr(33 + ($i * 37 + 11) % 94);
    }
    return $s;
}

$keys = [
    'empty' => '',
    'one_byte' => 'k',
    'short_5' => 'abcde',
    'fifteen' => seq(15),
    'exactly_16' => seq(16),
    'seventeen' => seq(17),
    'long_30' => seq(30),
    'pycryptodome_max_56' => seq(56),
    'beyond_pycryptodome_57' => seq(57),
    'hex_64' => substr(hash('sha256', 'kassanet'), 0, 64),
    'openssl_max_72' => seq(72),
    'beyond_max_73' => seq(73),
    'beyond_max_100' => seq(100),
    'non_ascii_utf8' => "sleutel-\u{00E9}\u{00E8}-\u{20AC}-\u{1F35F}",
];

$multi = json_encode([
    'products' => [
        ['id' => 'P1', 'name' => 'Spaghetti bolognese', 'price' => '12.50'],
        ['id' => 'P2', 'name' => 'Cola', 'price' => '2.80'],
    ],
], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);

$bodies = [
    'empty' => '',
    'one_block' => '{"a":1}',
    'exact_block' => '{"ab":1}',
    'multi_block' => $multi,
    'non_ascii_json' => json_encode(
        ['name' => "Cr\u{00E8}me br\u{00FB}l\u{00E9}e \u{2014} 4,50 \u{20AC} \u{1F36E}"],
        JSON_UNESCAPED_UNICODE
    ),
];

$encryption = [];
foreach ($keys as $keyName => $key) {
    foreach ($bodies as $bodyName => $body) {
        $ciphertext = openssl_encrypt($body, 'bf-cbc', $key, 0, $iv);
        if ($ciphertext === false) {
            fwrite(STDERR, "openssl_encrypt failed for $keyName: " . openssl_error_string() . "\n");
            exit(1);
        }
        $roundTrip = openssl_decrypt($ciphertext, 'bf-cbc', $key, 0, $iv);
        if ($roundTrip !== $body) {
            fwrite(STDERR, "openssl_decrypt did not round-trip for $keyName/$bodyName\n");
            exit(1);
        }
        $encryption[] = [
            'key_name' => $keyName,
            'key_hex' => bin2hex($key),
            'key_length' => strlen($key),
            'body_name' => $bodyName,
            'plaintext_hex' => bin2hex($body),
            'ciphertext_b64' => $ciphertext,
        ];
    }
}

$signatures = [];
$dates = ['2026-11-26T19:33:10+00:00', '2026-07-01T08:00:00+02:00'];
$sigKeys = ['short' => 'k', 'typical' => 'sig-' . seq(28), 'non_ascii' => "cl\u{00E9}-\u{20AC}"];
$sigBodies = ['get' => '', 'json' => $bodies['multi_block'], 'encrypted' => $encryption[3]['ciphertext_b64']];
foreach ($sigKeys as $keyName => $key) {
    foreach ($dates as $date) {
        foreach ($sigBodies as $bodyName => $body) {
            $signatures[] = [
                'key_name' => $keyName,
                'key_hex' => bin2hex($key),
                'date' => $date,
                'body_name' => $bodyName,
                'body_hex' => bin2hex($body),
                'signature' => hash_hmac('sha256', $date . $body, $key),
            ];
        }
    }
}

echo json_encode([
    'generator' => 'scripts/php_vectors/generate.sh',
    'php_version' => PHP_VERSION,
    'openssl_version' => OPENSSL_VERSION_TEXT,
    'cipher' => 'bf-cbc',
    'iv_hex' => bin2hex($iv),
    'encryption' => $encryption,
    'signatures' => $signatures,
], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n";
