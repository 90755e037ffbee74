console.log('glint: rbd addon build pending')
