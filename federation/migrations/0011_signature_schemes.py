from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.models import SignatureScheme
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('federation', '0010_remote_profiles')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PeerSignatureScheme',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('host', fields.CharField(unique=True, max_length=255)),
                ('scheme', fields.CharEnumField(description='RFC9421: rfc9421\nCAVAGE: cavage', enum_type=SignatureScheme, max_length=16)),
                ('learnt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'peer_signature_scheme', 'app': 'federation', 'pk_attr': 'id', 'table_description': 'The signature scheme a peer host takes, as last learnt (see federation/signing.py).'},
            bases=['Model'],
        ),
    ]
