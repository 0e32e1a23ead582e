from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0006_listings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LocalGroup',
            fields=[
                ('rsa_private_pem', fields.TextField(unique=False)),
                ('rsa_public_pem', fields.TextField(unique=False)),
                ('ed25519_private_pem', fields.TextField(unique=False)),
                ('ed25519_multibase', fields.CharField(max_length=100)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=30)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'local_group', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A ``Group`` actor of this node. The neighbourhood group announces what members publish'},
            bases=['KeyedActor'],
        ),
    ]
